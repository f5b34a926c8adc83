"""What the pipeline's stages share, one module per thing it holds: params (params.yaml as typed
objects), specs, models, dataset, training, scoring, statistics, and how a stage fails well."""
