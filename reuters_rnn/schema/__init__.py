"""The params schema: params.yaml's sections, each model's and baseline's spec, the file's
checks and its errors."""
