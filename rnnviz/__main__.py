from rnnviz.cli import main

raise SystemExit(main())
