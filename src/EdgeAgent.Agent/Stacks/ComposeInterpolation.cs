using System.Text;

namespace EdgeAgent.Agent.Stacks;

/// <summary>
/// Variable interpolation as compose does it, from the variables supplied with a deployment (never
/// from the agent's environment): <c>$VAR</c>, <c>${VAR}</c>, <c>${VAR:-default}</c> (unset or
/// empty), <c>${VAR-default}</c> (unset), <c>${VAR:?error}</c> / <c>${VAR?error}</c> (required),
/// <c>${VAR:+alt}</c> / <c>${VAR+alt}</c> (alternative when set) and <c>$$</c> for a literal
/// dollar. Defaults and messages may themselves contain variables. An unset variable without a
/// default becomes the empty string, as in compose.
/// </summary>
internal static class ComposeInterpolation
{
    /// <summary>How deeply <c>${…}</c> expressions may nest inside each other's defaults.</summary>
    public const int MaxNesting = 32;

    /// <summary>Interpolates <paramref name="text"/>; returns false with <paramref name="error"/> set when it is malformed or a required variable is missing.</summary>
    public static bool TryInterpolate(string text, IReadOnlyDictionary<string, string> variables, out string result, out string? error) =>
        TryInterpolate(text, variables, int.MaxValue, out result, out error);

    /// <summary>
    /// Interpolates <paramref name="text"/>; also returns false when the result (or a default
    /// within it) would be longer than <paramref name="maxLength"/> characters.
    /// </summary>
    public static bool TryInterpolate(string text, IReadOnlyDictionary<string, string> variables, int maxLength, out string result, out string? error)
    {
        if (!text.Contains('$', StringComparison.Ordinal))
        {
            result = text;
            error = text.Length > maxLength ? TooLong(maxLength) : null;
            return error is null;
        }

        // The variables come with the deployment: "$A$A$A…" must not become gigabytes.
        var builder = new StringBuilder(Math.Min(text.Length, maxLength), maxLength);
        var position = 0;
        bool expanded;
        try
        {
            expanded = TryExpand(text, ref position, variables, builder, stopAtBrace: false, depth: 0, out error);
        }
        catch (ArgumentOutOfRangeException)
        {
            // A StringBuilder refuses to grow past its maximum capacity.
            expanded = false;
            error = TooLong(maxLength);
        }

        result = expanded ? builder.ToString() : "";
        return expanded;
    }

    /// <summary>The error of a result longer than <paramref name="maxLength"/>.</summary>
    internal static string TooLong(int maxLength) => $"the value is longer than {maxLength} characters after interpolation";

    /// <summary>Expands from <paramref name="position"/> to the end of <paramref name="text"/>, or to an unmatched <c>}</c> when <paramref name="stopAtBrace"/>.</summary>
    private static bool TryExpand(string text, ref int position, IReadOnlyDictionary<string, string> variables, StringBuilder output, bool stopAtBrace, int depth, out string? error)
    {
        error = null;
        while (position < text.Length)
        {
            var c = text[position];
            if (stopAtBrace && c == '}')
            {
                return true;
            }

            if (c != '$')
            {
                output.Append(c);
                position++;
                continue;
            }

            // A '$'.
            if (position + 1 >= text.Length)
            {
                error = $"invalid interpolation format in \"{text}\": a '$' must be followed by a variable name, '{{' or '$' (write '$$' for a literal dollar)";
                return false;
            }

            var next = text[position + 1];
            if (next == '$')
            {
                output.Append('$');
                position += 2;
            }
            else if (IsNameStart(next))
            {
                var start = position + 1;
                var end = start;
                while (end < text.Length && IsNamePart(text[end]))
                {
                    end++;
                }

                output.Append(variables.GetValueOrDefault(text[start..end], ""));
                position = end;
            }
            else if (next == '{')
            {
                position += 2;
                if (depth == MaxNesting)
                {
                    error = $"invalid interpolation format: '${{' expressions are nested more than {MaxNesting} deep";
                    return false;
                }

                if (!TryExpandBraced(text, ref position, variables, output, depth + 1, out error))
                {
                    return false;
                }
            }
            else
            {
                error = $"invalid interpolation format in \"{text}\": a '$' must be followed by a variable name, '{{' or '$' (write '$$' for a literal dollar)";
                return false;
            }
        }

        if (stopAtBrace)
        {
            error = $"invalid interpolation format in \"{text}\": missing '}}'";
            return false;
        }

        return true;
    }

    /// <summary>Expands <c>NAME[op word]}</c>, <paramref name="position"/> being just after <c>${</c>.</summary>
    private static bool TryExpandBraced(string text, ref int position, IReadOnlyDictionary<string, string> variables, StringBuilder output, int depth, out string? error)
    {
        var start = position;
        if (position >= text.Length || !IsNameStart(text[position]))
        {
            error = $"invalid interpolation format in \"{text}\": '${{' must be followed by a variable name";
            return false;
        }

        while (position < text.Length && IsNamePart(text[position]))
        {
            position++;
        }

        var name = text[start..position];
        var isSet = variables.TryGetValue(name, out var value);
        if (position >= text.Length)
        {
            error = $"invalid interpolation format in \"{text}\": missing '}}'";
            return false;
        }

        if (text[position] == '}')
        {
            position++;
            output.Append(value ?? "");
            error = null;
            return true;
        }

        // An operator: ':-', '-', ':?', '?', ':+', '+'.
        var colon = text[position] == ':';
        if (colon)
        {
            position++;
        }

        var op = position < text.Length ? text[position] : '\0';
        if (op is not ('-' or '?' or '+'))
        {
            error = $"invalid interpolation format in \"{text}\": unexpected character after '${{{name}'";
            return false;
        }

        position++;

        // The word is expanded only when it is used, but always parsed to find the closing brace.
        var word = new StringBuilder(0, output.MaxCapacity);
        if (!TryExpand(text, ref position, variables, word, stopAtBrace: true, depth, out error))
        {
            return false;
        }

        position++; // the '}'
        var present = colon ? isSet && value!.Length > 0 : isSet;
        switch (op)
        {
            case '-':
                output.Append(present ? value : word.ToString());
                break;
            case '+':
                output.Append(present ? word.ToString() : "");
                break;
            default:
                if (!present)
                {
                    var message = word.Length > 0 ? word.ToString() : (colon ? "empty or unset" : "unset");
                    error = $"required variable {name} is missing a value: {message}";
                    return false;
                }

                output.Append(value);
                break;
        }

        return true;
    }

    private static bool IsNameStart(char c) => c is '_' or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z');

    private static bool IsNamePart(char c) => IsNameStart(c) || c is >= '0' and <= '9';
}
