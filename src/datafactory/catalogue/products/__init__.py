"""Data products: publications, results and code made with the catalogue's datasets."""
