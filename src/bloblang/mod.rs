//! Bloblang: parser, compiler and interpreter, and its library.

pub mod library;
