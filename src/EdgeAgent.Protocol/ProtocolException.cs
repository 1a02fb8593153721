namespace EdgeAgent.Protocol;

/// <summary>A violation of the tunnel protocol, carrying the code the session closes with.</summary>
public sealed class ProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">The protocol error code.</param>
    /// <param name="message">A description that never contains secrets or peer-supplied bulk data.</param>
    public ProtocolException(ProtocolErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    /// <param name="code">The protocol error code.</param>
    /// <param name="message">A description.</param>
    /// <param name="innerException">The cause.</param>
    public ProtocolException(ProtocolErrorCode code, string message, Exception innerException)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>The code the session or channel closes with.</summary>
    public ProtocolErrorCode Code { get; }
}
