"""Lambda function code, one folder per bounded context, plus the shared kernel (``functions.shared``)."""
