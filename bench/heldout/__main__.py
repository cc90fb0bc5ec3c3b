from bench.heldout.run import main

raise SystemExit(main())
