from hiscrm.cli.main import main

raise SystemExit(main())
