from llmops.cli.main import main

raise SystemExit(main())
