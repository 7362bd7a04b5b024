"""Training and validating the beat classifier on annotated databases (MIT-BIH).

Qt-free. ``beatscope.evaluate.labelled`` turns records into the beat windows
the engine itself produces (so training sees exactly what inference will);
here ``splits`` holds the evaluation protocols, ``augment`` the augmentations,
and ``trainer`` the seeded training loop behind ``beatscope train``.
"""
