from rnnviz.cli import entry

if __name__ == "__main__":  # the training process imports this module again: do nothing there
    entry()
