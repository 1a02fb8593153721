namespace EdgeAgent.Agent.Stacks;

/// <summary>One problem found in a compose file, with where it is (1-based line and column; 0 when unknown).</summary>
internal sealed record ComposeError(int Line, int Column, string Message)
{
    public override string ToString() => Line > 0 ? $"line {Line}: {Message}" : Message;
}

/// <summary>The compose file cannot be deployed; nothing was changed on the engine.</summary>
internal sealed class ComposeValidationException : Exception
{
    public ComposeValidationException(IReadOnlyList<ComposeError> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<ComposeError> Errors { get; }

    private static string Format(IReadOnlyList<ComposeError> errors) =>
        errors.Count == 1
            ? $"Invalid compose file: {errors[0]}"
            : $"Invalid compose file ({errors.Count} errors): " + string.Join("; ", errors);
}
