from mloop.cli import run

run()
