"""The in-process VLM engine (`--engine transformers`): model loading, tiling, the batch scheduler, the engine's own
greedy decoding loop with its Triton kernels and FP8 paths. Imported only when that engine is chosen: nothing here
is loaded by the server, the OCR engine or the `openai` engine, and nothing here changes process-wide state when
imported."""
