using System.Text.Json.Serialization;

namespace EdgeAgent.ControlPlane.Sqlite;

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
