//! Appearance streams for visible signatures (being written).
