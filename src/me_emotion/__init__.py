"""me_emotion
"""

__version__ = "0.1"
