from twin_server.cli import main

raise SystemExit(main())
