"""What every trainer shares, whatever it trains (word vectors, graph embeddings).

- :mod:`.params`: scikit-learn style declarative checks of an estimator's parameters;
- :mod:`.checkpoint`: epoch checkpoints (safetensors + JSON, atomic, no pickle);
- :mod:`.tensorboard`: a TensorBoard scalar writer without TensorFlow or torch;
- :mod:`.jit`: telling a user that a numba kernel compiles now (first run only).

Nothing here trains; the trainers (:mod:`embedlab.static`, :mod:`embedlab.kg`) import from here.
"""
