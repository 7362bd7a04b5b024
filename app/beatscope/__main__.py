from beatscope.cli.main import main

# Guarded: a spawned worker process (``--jobs``, the engine process) imports the
# parent's main module again, and must not run the command a second time.
if __name__ == "__main__":
    raise SystemExit(main())
