using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>Runs a command in a container and waits for it.</summary>
[MessagePackObject]
public sealed class ExecRequest
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string ContainerId { get; set; } = "";

    /// <summary>The command and its arguments.</summary>
    [Key(1)] public IReadOnlyList<string> Command { get; set; } = [];

    /// <summary>Extra environment variables (NAME=value).</summary>
    [Key(2)] public IReadOnlyList<string>? Env { get; set; }

    /// <summary>The working directory, or null for the container's.</summary>
    [Key(3)] public string? WorkingDir { get; set; }

    /// <summary>The user (name or uid[:gid]), or null for the container's.</summary>
    [Key(4)] public string? User { get; set; }

    /// <summary>Bytes written to the command's standard input, which is then closed; null attaches no input.</summary>
    [Key(5)] public byte[]? Stdin { get; set; }

    /// <summary>The most bytes of stdout plus stderr kept; the rest is dropped and <see cref="ExecResult.Truncated"/> set.</summary>
    [Key(6)] public int MaxOutputBytes { get; set; } = 1024 * 1024;
}

/// <summary>The outcome of a finished command.</summary>
[MessagePackObject]
public sealed class ExecResult
{
    /// <summary>The exit code.</summary>
    [Key(0)] public long ExitCode { get; set; }

    /// <summary>Standard output (UTF-8).</summary>
    [Key(1)] public string Stdout { get; set; } = "";

    /// <summary>Standard error (UTF-8).</summary>
    [Key(2)] public string Stderr { get; set; } = "";

    /// <summary>True when the output exceeded <see cref="ExecRequest.MaxOutputBytes"/> and was cut.</summary>
    [Key(3)] public bool Truncated { get; set; }
}

/// <summary>Creates an exec instance for an interactive session.</summary>
[MessagePackObject]
public sealed class ExecCreateRequest
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string ContainerId { get; set; } = "";

    /// <summary>The command and its arguments, e.g. <c>["/bin/sh"]</c>.</summary>
    [Key(1)] public IReadOnlyList<string> Command { get; set; } = [];

    /// <summary>Extra environment variables (NAME=value).</summary>
    [Key(2)] public IReadOnlyList<string>? Env { get; set; }

    /// <summary>The working directory, or null for the container's.</summary>
    [Key(3)] public string? WorkingDir { get; set; }

    /// <summary>The user, or null for the container's.</summary>
    [Key(4)] public string? User { get; set; }

    /// <summary>Allocate a terminal (output is then one stream, and the terminal can be resized).</summary>
    [Key(5)] public bool Tty { get; set; } = true;
}

/// <summary>An exec instance that was created.</summary>
[MessagePackObject]
public sealed class ExecCreated
{
    /// <summary>The exec id.</summary>
    [Key(0)] public string ExecId { get; set; } = "";
}

/// <summary>Starts a created exec instance and attaches to it.</summary>
[MessagePackObject]
public sealed class ExecAttachRequest
{
    /// <summary>The exec id.</summary>
    [Key(0)] public string ExecId { get; set; } = "";

    /// <summary>The initial terminal width in columns; 0 leaves the default.</summary>
    [Key(1)] public int Columns { get; set; }

    /// <summary>The initial terminal height in rows; 0 leaves the default.</summary>
    [Key(2)] public int Rows { get; set; }
}

/// <summary>Resizes an exec instance's terminal.</summary>
[MessagePackObject]
public sealed class ExecResizeRequest
{
    /// <summary>The exec id.</summary>
    [Key(0)] public string ExecId { get; set; } = "";

    /// <summary>The width in columns.</summary>
    [Key(1)] public int Columns { get; set; }

    /// <summary>The height in rows.</summary>
    [Key(2)] public int Rows { get; set; }
}

/// <summary>Names an exec instance.</summary>
[MessagePackObject]
public sealed class ExecRef
{
    /// <summary>The exec id.</summary>
    [Key(0)] public string ExecId { get; set; } = "";
}

/// <summary>The state of an exec instance.</summary>
[MessagePackObject]
public sealed class ExecStatus
{
    /// <summary>The exec id.</summary>
    [Key(0)] public string ExecId { get; set; } = "";

    /// <summary>The container it runs in.</summary>
    [Key(1)] public string ContainerId { get; set; } = "";

    /// <summary>Still running.</summary>
    [Key(2)] public bool Running { get; set; }

    /// <summary>The exit code once it finished, else null.</summary>
    [Key(3)] public long? ExitCode { get; set; }

    /// <summary>The process id on the host, 0 when not running.</summary>
    [Key(4)] public long Pid { get; set; }
}
