// Translation unit that owns the precompiled libtorch header.
