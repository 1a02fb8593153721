using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;
using EdgeAgent.Protocol;

namespace EdgeAgent.Agent.Docker;

/// <summary>Turns engine failures into typed command errors that carry the engine's own message.</summary>
internal static class DockerErrors
{
    /// <summary>
    /// Maps <paramref name="exception"/>; returns false for exceptions that are already typed or
    /// are the caller's own cancellation (the dispatcher handles those).
    /// </summary>
    public static bool TryMap(Exception exception, CancellationToken cancellationToken, out EdgeCommandException mapped)
    {
        mapped = null!;
        switch (exception)
        {
            case EdgeCommandException:
                return false;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return false;
            case DockerApiException api:
                mapped = FromApi(api);
                return true;
            case OperationCanceledException or TimeoutException:
                mapped = new EdgeCommandException(EdgeErrorCodes.Unavailable, "The Docker engine did not answer in time.", exception);
                return true;
            case HttpRequestException or SocketException or IOException or DockerConfigurationException:
                mapped = new EdgeCommandException(EdgeErrorCodes.Unavailable, $"The Docker engine is not reachable: {Innermost(exception).Message}", exception);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Maps or rethrows: for use in <c>catch</c> blocks.</summary>
    public static Exception Map(Exception exception, CancellationToken cancellationToken) =>
        TryMap(exception, cancellationToken, out var mapped) ? mapped : exception;

    public static EdgeCommandException FromApi(DockerApiException api)
    {
        var message = EngineMessage(api);
        var code = api.StatusCode switch
        {
            HttpStatusCode.NotFound => EdgeErrorCodes.NotFound,
            HttpStatusCode.Conflict or HttpStatusCode.NotModified => EdgeErrorCodes.Conflict,
            HttpStatusCode.BadRequest => EdgeErrorCodes.InvalidArgument,
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => EdgeErrorCodes.Denied,
            HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.BadGateway => EdgeErrorCodes.Unavailable,
            _ => FromMessage(message),
        };
        return new EdgeCommandException(code, message, api);
    }

    /// <summary>Classifies an engine message that came without a telling status (500s, stream errors).</summary>
    public static string FromMessage(string message)
    {
        if (Contains(message, "is not running") || Contains(message, "is paused") || Contains(message, "already in use") || Contains(message, "is in use") || Contains(message, "conflict"))
        {
            return EdgeErrorCodes.Conflict;
        }

        if (Contains(message, "pull access denied") || Contains(message, "unauthorized") || Contains(message, "authentication required") || Contains(message, "denied"))
        {
            return EdgeErrorCodes.Denied;
        }

        if (Contains(message, "dial tcp") || Contains(message, "connection refused") || Contains(message, "no such host") || Contains(message, "i/o timeout")
            || Contains(message, "timeout exceeded") || Contains(message, "TLS handshake") || Contains(message, "network is unreachable") || Contains(message, "server misbehaving"))
        {
            return EdgeErrorCodes.Unavailable;
        }

        if (Contains(message, "no such") || Contains(message, "not found") || Contains(message, "manifest unknown"))
        {
            return EdgeErrorCodes.NotFound;
        }

        if (Contains(message, "invalid") || Contains(message, "bad parameter"))
        {
            return EdgeErrorCodes.InvalidArgument;
        }

        return EdgeErrorCodes.Internal;
    }

    /// <summary>The engine's <c>message</c> from the JSON body, or the body itself.</summary>
    public static string EngineMessage(DockerApiException api)
    {
        var body = api.ResponseBody?.Trim() ?? "";
        if (body.StartsWith('{'))
        {
            try
            {
                using var json = JsonDocument.Parse(body);
                if (json.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                {
                    return message.GetString() ?? body;
                }
            }
            catch (JsonException)
            {
                // Not JSON after all: use it as it is.
            }
        }

        return body.Length > 0 ? body : $"The Docker engine answered {(int)api.StatusCode} ({api.StatusCode}).";
    }

    private static bool Contains(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is { } inner)
        {
            exception = inner;
        }

        return exception;
    }
}
