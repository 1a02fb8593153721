using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol;
using Microsoft.AspNetCore.Diagnostics;

namespace EdgeAgent.Samples.ControlPlane;

/// <summary>
/// Turns the SDK's ordinary failures into HTTP answers with their message, as ProblemDetails
/// (<c>application/problem+json</c>, the message in <c>detail</c>, the SDK's error code in
/// <c>code</c>): a command the agent refused or could not run (<see cref="EdgeCommandException"/>,
/// by its <see cref="EdgeCommandException.Code"/>), an agent that is not connected, a malformed
/// argument. Anything else stays a 500.
/// </summary>
internal sealed class EdgeExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, code) = exception switch
        {
            // Before EdgeCommandException: it is one, with code "unavailable".
            EdgeAgentNotConnectedException => (StatusCodes.Status503ServiceUnavailable, EdgeErrorCodes.Unavailable),
            EdgeCommandException command => (StatusFor(command.Code), command.Code),
            // Enrollment with a malformed agent id, a stack without a version, ...
            ArgumentException => (StatusCodes.Status400BadRequest, EdgeErrorCodes.InvalidArgument),
            _ => (0, null),
        };
        if (status == 0)
        {
            return false;
        }

        // Through the ProblemDetails service, or as plain JSON when the client's Accept header
        // rules that out (text/event-stream on the logs route).
        await TypedResults.Problem(exception.Message, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code })
            .ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>The HTTP status for one of <see cref="EdgeErrorCodes"/>.</summary>
    private static int StatusFor(string code) => code switch
    {
        EdgeErrorCodes.NotFound => StatusCodes.Status404NotFound,
        EdgeErrorCodes.InvalidArgument => StatusCodes.Status400BadRequest,
        EdgeErrorCodes.Denied => StatusCodes.Status403Forbidden,
        EdgeErrorCodes.Conflict => StatusCodes.Status409Conflict,
        // The agent or its engine is unreachable, or the agent cancelled the command (for
        // example while shutting down): retrying later may succeed.
        EdgeErrorCodes.Unavailable or EdgeErrorCodes.Cancelled => StatusCodes.Status503ServiceUnavailable,
        EdgeErrorCodes.Timeout => StatusCodes.Status504GatewayTimeout,
        // The agent's answer was larger than the control plane accepts, or the agent failed
        // unexpectedly: the failure is upstream of this API.
        EdgeErrorCodes.TooLarge or EdgeErrorCodes.Internal => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status502BadGateway,
    };
}
