"""Deployment exports of a trained model: ONNX graphs of the denoiser and the decoder.

``onnx_folder.export_onnx`` writes the folder (``audiodiff export format=onnx``);
``denoiser`` and ``decoders`` hold the exportable forms of each part (the torch modules
themselves, with only the ops ONNX lacks swapped: the inverse STFT, Snake's copysign);
``runtime.load_onnx`` runs a folder with onnxruntime behind the pipeline's interface;
``layout`` names the folder's files, ``readme`` writes its README.txt.
docs/export.md has the commands and the measured parity.
"""
