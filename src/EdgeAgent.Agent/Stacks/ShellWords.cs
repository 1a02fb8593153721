using System.Text;

namespace EdgeAgent.Agent.Stacks;

/// <summary>Splits a command string into words the way a POSIX shell does for quoting (no expansion), as compose does for <c>command</c> and <c>entrypoint</c>.</summary>
internal static class ShellWords
{
    public static bool TrySplit(string text, out List<string> words, out string? error)
    {
        words = [];
        error = null;
        var current = new StringBuilder();
        var inWord = false;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }

                i++;
                continue;
            }

            inWord = true;
            switch (c)
            {
                case '\'':
                    {
                        var end = text.IndexOf('\'', i + 1);
                        if (end < 0)
                        {
                            error = $"unterminated single quote in \"{text}\"";
                            return false;
                        }

                        current.Append(text, i + 1, end - i - 1);
                        i = end + 1;
                        break;
                    }

                case '"':
                    {
                        i++;
                        var closed = false;
                        while (i < text.Length)
                        {
                            var d = text[i];
                            if (d == '"')
                            {
                                closed = true;
                                i++;
                                break;
                            }

                            if (d == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\' or '$' or '`')
                            {
                                current.Append(text[i + 1]);
                                i += 2;
                                continue;
                            }

                            current.Append(d);
                            i++;
                        }

                        if (!closed)
                        {
                            error = $"unterminated double quote in \"{text}\"";
                            return false;
                        }

                        break;
                    }

                case '\\':
                    if (i + 1 < text.Length)
                    {
                        current.Append(text[i + 1]);
                        i += 2;
                    }
                    else
                    {
                        i++;
                    }

                    break;

                default:
                    current.Append(c);
                    i++;
                    break;
            }
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return true;
    }
}
