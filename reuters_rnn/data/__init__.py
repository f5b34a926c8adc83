"""The data: Keras's Reuters file fetched and prepared, the prepared arrays, and what the train
stage leaves for the stages after it."""
