using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Agent.Docker.Snapshots;

/// <summary>
/// Builds <see cref="AgentSnapshot"/>s of the host and engine. <see cref="WatchAsync"/> yields one
/// at once and then whenever the state changed: engine events trigger a new capture within about
/// <see cref="EventDebounce"/>, a periodic capture catches what events miss, and an unchanged
/// state (same <see cref="AgentSnapshot.Hash"/>) is not yielded again until
/// <see cref="FullResendInterval"/> has passed. <see cref="WatchUsageAsync"/> samples the running
/// containers' resource usage every <see cref="UsageInterval"/>, which can change at run time.
/// </summary>
internal sealed partial class DockerSnapshotCollector
{
    private readonly DockerClientProvider _docker;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<bool> _usageIntervalChanged = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private TimeSpan _usageInterval = TimeSpan.FromSeconds(30);
    private long _captures;

    public DockerSnapshotCollector(DockerClientProvider docker, ILogger<DockerSnapshotCollector>? logger = null, TimeProvider? time = null)
    {
        _docker = docker;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>How long after an engine event to capture (events come in bursts).</summary>
    public TimeSpan EventDebounce { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often to capture without events (catches what events miss, and engine recovery).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an unchanged snapshot is sent again anyway.</summary>
    public TimeSpan FullResendInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often <see cref="WatchUsageAsync"/> samples; zero or less pauses sampling. Takes effect at once.</summary>
    public TimeSpan UsageInterval
    {
        get => _usageInterval;
        set
        {
            _usageInterval = value;
            _usageIntervalChanged.Writer.TryWrite(true);
        }
    }

    /// <summary>Limits the snapshot to objects with these labels (all objects when null).</summary>
    internal IReadOnlyDictionary<string, string>? ScopeLabels { get; set; }

    /// <summary>How many captures ran (diagnostics, tests).</summary>
    internal long Captures => Interlocked.Read(ref _captures);

    /// <summary>Captures one snapshot. Never throws for engine failures: they show as <see cref="AgentSnapshot.EngineReachable"/> false.</summary>
    public async Task<AgentSnapshot> CaptureAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _captures);
        AgentSnapshot snapshot;
        try
        {
            var client = _docker.Client;
            var info = await client.System.GetSystemInfoAsync(cancellationToken);
            var filters = DockerMapper.Filters(ScopeLabels);
            var containers = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filters }, cancellationToken);
            var images = await client.Images.ListImagesAsync(new ImagesListParameters { Filters = DockerMapper.Filters(ScopeLabels) }, cancellationToken);
            var volumes = await client.Volumes.ListAsync(new VolumesListParameters { Filters = DockerMapper.Filters(ScopeLabels) }, cancellationToken);
            var networks = await client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = DockerMapper.Filters(ScopeLabels) }, cancellationToken);
            snapshot = new AgentSnapshot
            {
                Host = new HostSnapshot
                {
                    Hostname = string.IsNullOrEmpty(info.Name) ? Environment.MachineName : info.Name,
                    OperatingSystem = info.OperatingSystem ?? "",
                    KernelVersion = info.KernelVersion ?? "",
                    Architecture = info.Architecture ?? "",
                    Cpus = info.NCPU,
                    MemoryBytes = info.MemTotal,
                    EngineVersion = info.ServerVersion ?? "",
                },
                EngineReachable = true,
                Containers = containers
                    .Select(c =>
                    {
                        // "Up 5 minutes" changes by itself every minute; state and health carry the meaning.
                        var summary = DockerMapper.ToSummary(c);
                        summary.Status = "";
                        return summary;
                    })
                    .OrderBy(c => c.Id, StringComparer.Ordinal)
                    .ToArray(),
                Images = images.Select(DockerMapper.ToSummary).OrderBy(i => i.Id, StringComparer.Ordinal).ToArray(),
                Volumes = volumes.Volumes?.Select(DockerMapper.ToSummary).OrderBy(v => v.Name, StringComparer.Ordinal).ToArray() ?? [],
                Networks = networks.Select(DockerMapper.ToSummary).OrderBy(n => n.Id, StringComparer.Ordinal).ToArray(),
            };
        }
        catch (Exception ex) when (DockerErrors.TryMap(ex, cancellationToken, out var mapped))
        {
            SnapshotLog.EngineUnreachable(_logger, mapped.Message);
            snapshot = new AgentSnapshot
            {
                Host = new HostSnapshot
                {
                    Hostname = Environment.MachineName,
                    OperatingSystem = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                    Architecture = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString(),
                    Cpus = Environment.ProcessorCount,
                },
                EngineReachable = false,
                LastError = mapped.Message,
            };
        }

        snapshot.Hash = ComputeHash(snapshot);
        snapshot.TakenAt = _time.GetUtcNow();
        return snapshot;
    }

    /// <summary>Yields a snapshot now, then each time the state changes, and again after <see cref="FullResendInterval"/>.</summary>
    public async IAsyncEnumerable<AgentSnapshot> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = WatchEventsAsync(changed.Writer, stop.Token);
        var changes = new SignalWaiter(changed.Reader, _time);
        try
        {
            string? lastHash = null;
            var lastSent = DateTimeOffset.MinValue;
            while (true)
            {
                var snapshot = await CaptureAsync(cancellationToken);
                var now = _time.GetUtcNow();
                if (snapshot.Hash != lastHash || now - lastSent >= FullResendInterval)
                {
                    lastHash = snapshot.Hash;
                    lastSent = now;
                    yield return snapshot;
                }

                var resendIn = FullResendInterval - (_time.GetUtcNow() - lastSent);
                var wait = resendIn < PollInterval ? resendIn : PollInterval;
                if (await changes.WaitAsync(wait, cancellationToken))
                {
                    // An event: let the burst settle, then capture once for all of it.
                    await Task.Delay(EventDebounce, _time, cancellationToken);
                    changed.Reader.TryRead(out _);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await events;
        }
    }

    /// <summary>Samples the running containers' resource usage every <see cref="UsageInterval"/>.</summary>
    public async IAsyncEnumerable<ContainerUsageReport> WatchUsageAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var intervalChanges = new SignalWaiter(_usageIntervalChanged.Reader, _time);
        while (true)
        {
            var interval = UsageInterval;
            if (interval <= TimeSpan.Zero)
            {
                await intervalChanges.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken);
                _usageIntervalChanged.Reader.TryRead(out _);
                continue;
            }

            if (await intervalChanges.WaitAsync(interval, cancellationToken))
            {
                _usageIntervalChanged.Reader.TryRead(out _);
                continue; // a new interval: start waiting again with it
            }

            ContainerUsageReport report;
            try
            {
                var client = _docker.Client;
                var running = await client.Containers.ListContainersAsync(new ContainersListParameters { All = false, Filters = DockerMapper.Filters(ScopeLabels) }, cancellationToken);
                var samples = await Task.WhenAll(running.Select(async c =>
                {
                    try
                    {
                        return await DockerStats.SampleAsync(client, c.ID, cancellationToken);
                    }
                    catch (DockerApiException)
                    {
                        return null; // stopped between list and sample
                    }
                }));
                report = new ContainerUsageReport
                {
                    TakenAt = _time.GetUtcNow(),
                    Containers = samples.OfType<ContainerStats>().OrderBy(s => s.Id, StringComparer.Ordinal).ToArray(),
                };
            }
            catch (Exception ex) when (DockerErrors.TryMap(ex, cancellationToken, out var mapped))
            {
                SnapshotLog.EngineUnreachable(_logger, mapped.Message);
                continue;
            }

            yield return report;
        }
    }

    /// <summary>The hash of the content, without <see cref="AgentSnapshot.TakenAt"/> and the hash itself.</summary>
    internal static string ComputeHash(AgentSnapshot snapshot)
    {
        var (takenAt, hash) = (snapshot.TakenAt, snapshot.Hash);
        snapshot.TakenAt = default;
        snapshot.Hash = "";
        try
        {
            return Convert.ToHexStringLower(SHA256.HashData(ContractSerializer.Serialize(snapshot)));
        }
        finally
        {
            (snapshot.TakenAt, snapshot.Hash) = (takenAt, hash);
        }
    }

    /// <summary>
    /// Waits for a signal on a channel or a timeout, whichever comes first, without throwing when the
    /// timeout wins (an idle agent times out every poll interval). One wait on the channel stays
    /// pending across timeouts, so waits do not pile up on the channel.
    /// </summary>
    private sealed class SignalWaiter(ChannelReader<bool> signal, TimeProvider time)
    {
        private Task<bool>? _pending;

        /// <summary>True when signalled (the signal is left to read); false at the timeout.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            {
                return signal.TryPeek(out _);
            }

            _pending ??= signal.WaitToReadAsync(cancellationToken).AsTask();
            if (!_pending.IsCompleted && timeout != Timeout.InfiniteTimeSpan)
            {
                using var stopDelay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                await Task.WhenAny(_pending, Task.Delay(timeout, time, stopDelay.Token));
                await stopDelay.CancelAsync();
                if (!_pending.IsCompleted)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return false;
                }
            }

            var pending = _pending;
            _pending = null;
            return await pending;
        }
    }

    /// <summary>Follows the engine's events and signals each one; reconnects when the engine goes away.</summary>
    private async Task WatchEventsAsync(ChannelWriter<bool> changed, CancellationToken cancellationToken)
    {
        var progress = new SignalProgress(changed);
        var parameters = new ContainerEventsParameters
        {
            Filters = DockerMapper.Filters(null),
        };
        parameters.Filters["type"] = new Dictionary<string, bool> { ["container"] = true, ["image"] = true, ["volume"] = true, ["network"] = true };
        var backoff = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _docker.Client.System.MonitorEventsAsync(parameters, progress, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                SnapshotLog.EventsLost(_logger, ex.Message);
            }

            // The stream ended or failed: the state may have changed meanwhile.
            changed.TryWrite(true);
            try
            {
                await Task.Delay(backoff, _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
    }

    private sealed class SignalProgress(ChannelWriter<bool> changed) : IProgress<Message>
    {
        public void Report(Message value) => changed.TryWrite(true);
    }

    private static partial class SnapshotLog
    {
        [LoggerMessage(2300, LogLevel.Warning, "The Docker engine is not reachable: {Reason}")]
        public static partial void EngineUnreachable(ILogger logger, string reason);

        [LoggerMessage(2301, LogLevel.Debug, "The Docker event stream ended: {Reason}")]
        public static partial void EventsLost(ILogger logger, string reason);
    }
}
