//! floodd's s-expression configuration file.
