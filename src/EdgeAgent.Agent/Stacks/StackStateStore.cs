using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeAgent.Agent.Stacks;

/// <summary>What the agent last accepted and applied for one stack; survives agent restarts.</summary>
internal sealed class StackRecord
{
    public string ProjectName { get; set; } = "";

    public string DesiredVersion { get; set; } = "";

    public string AppliedVersion { get; set; } = "";

    /// <summary>The services of the desired state and how many containers each should run.</summary>
    public SortedDictionary<string, int> Services { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per-service errors of the last deployment.</summary>
    public SortedDictionary<string, string> ServiceErrors { get; set; } = new(StringComparer.Ordinal);

    public string LastError { get; set; } = "";

    public DateTimeOffset? UpdatedAt { get; set; }
}

[JsonSerializable(typeof(StackRecord))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class StackStateJsonContext : JsonSerializerContext;

/// <summary>
/// Keeps one folder per stack under a state directory: <c>state.json</c> (a <see cref="StackRecord"/>)
/// and <c>docker-compose.yml</c> (the file as deployed, before interpolation; the deployment's
/// variables are never written). Every write goes to a temporary file that then replaces the
/// old one, so a crash leaves either the old or the new state, never half of one. Callers
/// serialise writes per stack.
/// </summary>
internal sealed class StackStateStore
{
    public const string StateFileName = "state.json";
    public const string ComposeFileName = "docker-compose.yml";

    public StackStateStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
    }

    public string Directory { get; }

    /// <summary>The folder of one stack (project names are validated, so they are safe path segments).</summary>
    public string ProjectDirectory(string projectName) => Path.Combine(Directory, projectName);

    public StackRecord? Load(string projectName)
    {
        var path = Path.Combine(ProjectDirectory(projectName), StateFileName);
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, StackStateJsonContext.Default.StackRecord);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (JsonException)
        {
            // A damaged file is treated as unknown state: the next deployment rewrites it.
            return null;
        }
    }

    public IReadOnlyList<string> ListProjects()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        return [.. System.IO.Directory.EnumerateDirectories(Directory)
            .Where(d => File.Exists(Path.Combine(d, StateFileName)))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(ComposeParser.IsValidProjectName)
            .Order(StringComparer.Ordinal)];
    }

    public void Save(StackRecord record, string? composeYaml = null)
    {
        var folder = ProjectDirectory(record.ProjectName);
        System.IO.Directory.CreateDirectory(folder);
        if (composeYaml is not null)
        {
            WriteAtomically(Path.Combine(folder, ComposeFileName), System.Text.Encoding.UTF8.GetBytes(composeYaml));
        }

        WriteAtomically(Path.Combine(folder, StateFileName), JsonSerializer.SerializeToUtf8Bytes(record, StackStateJsonContext.Default.StackRecord));
    }

    public void Delete(string projectName)
    {
        var folder = ProjectDirectory(projectName);
        if (System.IO.Directory.Exists(folder))
        {
            System.IO.Directory.Delete(folder, recursive: true);
        }
    }

    private static void WriteAtomically(string path, byte[] content)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
