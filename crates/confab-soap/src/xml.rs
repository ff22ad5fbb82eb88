//! A small namespace-resolved element tree built with quick-xml.
