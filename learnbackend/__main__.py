from learnbackend.cli import main

raise SystemExit(main())
