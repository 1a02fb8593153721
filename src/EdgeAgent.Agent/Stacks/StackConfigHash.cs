using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace EdgeAgent.Agent.Stacks;

/// <summary>
/// The configuration hash of a service, stored in <c>com.docker.compose.config-hash</c>: a SHA-256
/// over a canonical JSON form of everything that goes into its containers (after interpolation,
/// with resolved network and volume names and the image id). Equal hash, equal container: a
/// redeployment leaves it alone. The form is the agent's own, not docker compose's (see
/// <see cref="ComposeLabels"/>).
/// </summary>
internal static class StackConfigHash
{
    public static string Compute(ComposeService service, string projectName, string imageId, IReadOnlyDictionary<string, string> networkNames, IReadOnlyDictionary<string, string> volumeNames)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("project", projectName);
            json.WriteString("service", service.Name);
            json.WriteString("image", service.Image);
            json.WriteString("imageId", imageId);
            WriteList(json, "command", service.Command);
            WriteList(json, "entrypoint", service.Entrypoint);
            json.WriteStartObject("environment");
            foreach (var (key, value) in service.Environment)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            json.WriteStartArray("ports");
            foreach (var port in service.Ports)
            {
                json.WriteStringValue($"{port.HostIp}|{port.HostPort}|{port.ContainerPort}/{port.Protocol}");
            }

            json.WriteEndArray();
            json.WriteStartArray("mounts");
            foreach (var mount in service.Mounts)
            {
                var source = mount is { Type: "volume", Source: { } name } ? volumeNames[name] : mount.Source;
                json.WriteStringValue($"{mount.Type}|{source}|{mount.Target}|{mount.ReadOnly}|{mount.NoCopy}|{mount.TmpfsSize}");
            }

            json.WriteEndArray();
            json.WriteStartObject("networks");
            foreach (var network in service.EffectiveNetworks)
            {
                json.WriteStartArray(networkNames[network]);
                foreach (var alias in service.Networks.GetValueOrDefault(network) ?? [])
                {
                    json.WriteStringValue(alias);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteString("restart", service.Restart);
            WriteMap(json, "labels", service.Labels);
            if (service.Healthcheck is { } check)
            {
                json.WriteStartObject("healthcheck");
                WriteList(json, "test", check.Test);
                json.WriteString("interval", check.Interval?.ToString());
                json.WriteString("timeout", check.Timeout?.ToString());
                json.WriteString("startPeriod", check.StartPeriod?.ToString());
                json.WriteString("retries", check.Retries?.ToString(System.Globalization.CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }

            json.WriteString("workingDir", service.WorkingDir);
            json.WriteString("user", service.User);
            json.WriteString("hostname", service.Hostname);
            json.WriteString("stopSignal", service.StopSignal);
            json.WriteString("stopGracePeriod", service.StopGracePeriod?.ToString());
            json.WriteString("memory", service.MemoryLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("nanoCpus", service.NanoCpus?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            json.WriteBoolean("privileged", service.Privileged);
            WriteList(json, "capAdd", service.CapAdd);
            WriteList(json, "capDrop", service.CapDrop);
            WriteList(json, "extraHosts", service.ExtraHosts);
            json.WriteString("loggingDriver", service.LoggingDriver);
            WriteMap(json, "loggingOptions", service.LoggingOptions);
            json.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static void WriteList(Utf8JsonWriter json, string name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            json.WriteNull(name);
            return;
        }

        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteMap(Utf8JsonWriter json, string name, SortedDictionary<string, string> values)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in values)
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }
}
