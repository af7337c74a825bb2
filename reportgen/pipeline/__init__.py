"""Layer 7, the pipeline: ``build`` runs load -> compute -> views -> render -> write for one config;
``checks`` holds what validate verifies before anything is built."""
