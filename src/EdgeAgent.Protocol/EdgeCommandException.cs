namespace EdgeAgent.Protocol;

/// <summary>
/// A command failed: the agent answered with an error, the agent is not connected, the command
/// timed out, or authorization refused it. <see cref="Code"/> is one of <see cref="EdgeErrorCodes"/>.
/// </summary>
public class EdgeCommandException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">One of <see cref="EdgeErrorCodes"/>.</param>
    /// <param name="message">A message that is safe to show (it never contains secrets).</param>
    public EdgeCommandException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    /// <param name="code">One of <see cref="EdgeErrorCodes"/>.</param>
    /// <param name="message">A message that is safe to show.</param>
    /// <param name="innerException">The cause.</param>
    public EdgeCommandException(string code, string message, Exception? innerException)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>The error code, one of <see cref="EdgeErrorCodes"/>.</summary>
    public string Code { get; }
}
