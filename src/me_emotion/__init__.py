"""me_emotion"""

from me_emotion.noise import quiet_tensorflow_start_up

# First thing, before any module can import TensorFlow: its C++ start-up and
# GPU-probe lines (absl, oneDNN, CUDA) stay off stderr (noise.py says which;
# TF_CPP_MIN_LOG_LEVEL=0 shows them).
quiet_tensorflow_start_up()

__version__ = "0.1"
