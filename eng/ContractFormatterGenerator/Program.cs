using EdgeAgent.Eng.ContractFormatterGenerator;
using EdgeAgent.Protocol;

// Usage: dotnet run --project eng/ContractFormatterGenerator [-- <repository root>]
// Writes the formatters of EdgeAgent.Protocol's contracts to FormatterSourceGenerator.RelativeOutputPath.
var root = args.Length > 0 ? args[0] : FindRepositoryRoot(Directory.GetCurrentDirectory());
var path = Path.Combine(root, FormatterSourceGenerator.RelativeOutputPath);
var source = FormatterSourceGenerator.Generate(typeof(EdgeCommandException).Assembly);
Directory.CreateDirectory(Path.GetDirectoryName(path)!);
if (File.Exists(path) && File.ReadAllText(path) == source)
{
    Console.WriteLine($"{FormatterSourceGenerator.RelativeOutputPath} is up to date.");
}
else
{
    File.WriteAllText(path, source);
    Console.WriteLine($"Wrote {FormatterSourceGenerator.RelativeOutputPath}.");
}

static string FindRepositoryRoot(string start)
{
    for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "EdgeAgent.Sdk.sln")))
        {
            return directory.FullName;
        }
    }

    throw new InvalidOperationException($"No EdgeAgent.Sdk.sln above {start}: pass the repository root as the first argument.");
}
