"""Reports: Markdown (and plots) rendered from stored results."""
