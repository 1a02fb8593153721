namespace EdgeAgent.Protocol.Session;

/// <summary>
/// A transport that can also send a whole frame straight from the caller's thread, bypassing its
/// output pipe: a large data frame then costs no copy into the pipe and no hop to the send loop.
/// The session uses it only under its write lock and only while every byte written to the output
/// pipe has already gone out, so frames keep their order.
/// </summary>
internal interface IDirectSendTransport
{
    /// <summary>
    /// True when every byte written to the output pipe has been sent. Only meaningful to the
    /// single writer (the session, under its write lock): nothing can be added meanwhile.
    /// </summary>
    bool IsOutputDrained { get; }

    /// <summary>Sends <paramref name="frame"/> now; it must not be called while the output holds unsent bytes.</summary>
    ValueTask SendDirectAsync(ReadOnlyMemory<byte> frame);
}
