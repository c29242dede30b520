package dev.deepshape.cuda;

/** A CUDA driver, NVRTC or cuBLAS call that failed: the message names the call and the library's error string. */
public class CudaException extends RuntimeException {
    public CudaException(String message) { super(message); }

    public CudaException(String message, Throwable cause) { super(message, cause); }
}
