from beatscope.cli.main import main

raise SystemExit(main())
