//! Unit tests of the parts of `registry`, each on its own part.

mod uri_template;
