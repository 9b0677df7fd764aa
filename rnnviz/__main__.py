from rnnviz.cli import main

if __name__ == "__main__":  # the training process imports this module again: do nothing there
    raise SystemExit(main())
