"""Runtime prediction: online predictors the engine uses as an estimate source (:mod:`.online`)."""
