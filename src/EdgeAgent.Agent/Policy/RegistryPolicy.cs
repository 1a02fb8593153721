using EdgeAgent.Protocol;

namespace EdgeAgent.Agent.Policy;

/// <summary>Applies <see cref="EdgeAgentPolicy.AllowedRegistries"/> to image references before a pull.</summary>
internal static class RegistryPolicy
{
    /// <summary>The registry of an image reference, as Docker resolves it (<c>docker.io</c> when none is named).</summary>
    public static string RegistryOf(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var first = image[..slash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                return first.ToLowerInvariant();
            }
        }

        return "docker.io";
    }

    /// <exception cref="EdgeCommandException"><c>denied</c>, naming the registry and the setting.</exception>
    public static void EnsureAllowed(string image, IReadOnlyCollection<string> allowed)
    {
        if (allowed.Count == 0)
        {
            return;
        }

        var registry = RegistryOf(image);
        if (!allowed.Contains(registry, StringComparer.OrdinalIgnoreCase))
        {
            throw new EdgeCommandException(EdgeErrorCodes.Denied, $"Pulling '{image}' was refused by the agent's policy: registry '{registry}' is not in Policy:AllowedRegistries.");
        }
    }
}
