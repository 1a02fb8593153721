using EdgeAgent.ControlPlane;
using EdgeAgent.ControlPlane.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores the control plane's state in SQLite.</summary>
public static class EdgeControlPlaneSqliteExtensions
{
    /// <summary>
    /// Keeps agents, credential hashes, desired stacks and the audit trail in a SQLite database
    /// (WAL), created on first use. Nothing acknowledged is lost when the process restarts.
    /// </summary>
    /// <param name="builder">The control plane builder.</param>
    /// <param name="connectionString">A SQLite connection string, e.g. <c>Data Source=edgeagent.db</c>.</param>
    /// <returns>The builder.</returns>
    public static IEdgeControlPlaneBuilder UseSqlite(this IEdgeControlPlaneBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var database = new SqliteDatabase(connectionString);
        builder.Services.RemoveAll<IEdgeAgentStore>();
        builder.Services.RemoveAll<IEdgeAuditStore>();
        builder.Services.RemoveAll<IEdgeStackStore>();
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton<IEdgeAgentStore, SqliteAgentStore>();
        builder.Services.AddSingleton<IEdgeAuditStore, SqliteAuditStore>();
        builder.Services.AddSingleton<IEdgeStackStore, SqliteStackStore>();
        return builder;
    }
}
