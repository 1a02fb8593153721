using System.Globalization;
using System.Reflection;
using System.Text;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace EdgeAgent.Eng.ContractFormatterGenerator;

/// <summary>
/// Writes the C# source of MessagePack formatters for every <c>[MessagePackObject]</c> type of an
/// assembly. Each formatter does by hand what MessagePack's <c>DynamicObjectResolver</c> emits at run
/// time with Reflection.Emit (same bytes, same reading rules), so the generated code runs on Native AOT.
/// Members that are neither primitives, strings, enums nor contracts use the concrete formatter that
/// <see cref="StandardResolver"/> picks for their type today, asked for here, at generation time.
/// </summary>
public static class FormatterSourceGenerator
{
    /// <summary>Where the generated file lives, relative to the repository root.</summary>
    public const string RelativeOutputPath = "src/EdgeAgent.Protocol/Rpc/Generated/ContractFormatters.g.cs";

    /// <summary>The command that regenerates the file.</summary>
    public const string Command = "bash eng/generate-contract-formatters.sh";

    private const string GeneratedNamespace = "EdgeAgent.Protocol.Rpc.Generated";

    /// <summary>
    /// Types the resolver knows even when no contract uses them, so that a command may answer with a
    /// plain value (the control plane answers reports with a <c>bool</c>).
    /// </summary>
    private static readonly Type[] Scalars =
    [
        typeof(bool), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(char), typeof(string),
        typeof(byte[]), typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan), typeof(Guid),
        typeof(bool?), typeof(byte?), typeof(sbyte?), typeof(short?), typeof(ushort?), typeof(int?), typeof(uint?),
        typeof(long?), typeof(ulong?), typeof(float?), typeof(double?), typeof(decimal?), typeof(char?),
        typeof(DateTime?), typeof(DateTimeOffset?), typeof(TimeSpan?), typeof(Guid?),
    ];

    /// <summary>
    /// Member types written with <see cref="MessagePackWriter"/> and read with <see cref="MessagePackReader"/>
    /// directly (the reader method's suffix), as DynamicObjectResolver does for them. Strings are read the
    /// way its string formatter reads them.
    /// </summary>
    private static readonly Dictionary<Type, string> Direct = new()
    {
        [typeof(bool)] = "Boolean",
        [typeof(byte)] = "Byte",
        [typeof(sbyte)] = "SByte",
        [typeof(short)] = "Int16",
        [typeof(ushort)] = "UInt16",
        [typeof(int)] = "Int32",
        [typeof(uint)] = "UInt32",
        [typeof(long)] = "Int64",
        [typeof(ulong)] = "UInt64",
        [typeof(float)] = "Single",
        [typeof(double)] = "Double",
        [typeof(char)] = "Char",
        [typeof(string)] = "String",
        [typeof(byte[])] = "Bytes",
    };

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(bool)] = "bool",
        [typeof(byte)] = "byte",
        [typeof(sbyte)] = "sbyte",
        [typeof(short)] = "short",
        [typeof(ushort)] = "ushort",
        [typeof(int)] = "int",
        [typeof(uint)] = "uint",
        [typeof(long)] = "long",
        [typeof(ulong)] = "ulong",
        [typeof(float)] = "float",
        [typeof(double)] = "double",
        [typeof(decimal)] = "decimal",
        [typeof(char)] = "char",
        [typeof(string)] = "string",
        [typeof(object)] = "object",
    };

    /// <summary>Generates the file for the contracts of <paramref name="assembly"/>.</summary>
    /// <param name="assembly">The assembly whose <c>[MessagePackObject]</c> types get formatters.</param>
    /// <returns>The C# source, with <c>\n</c> line ends.</returns>
    /// <exception cref="InvalidOperationException">A contract uses something this generator does not reproduce.</exception>
    public static string Generate(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var contracts = assembly.GetTypes()
            .Where(type => type.IsDefined(typeof(MessagePackObjectAttribute), inherit: false))
            .OrderBy(type => type.Name, StringComparer.Ordinal)
            .ThenBy(type => type.Namespace, StringComparer.Ordinal)
            .ToList();
        var names = new TypeNames(contracts);
        var models = contracts.Select(Describe).ToList();
        foreach (var duplicate in contracts.GroupBy(type => type.Name).Where(group => group.Count() > 1))
        {
            throw new InvalidOperationException($"Two contracts are named {duplicate.Key}; the generated formatter names would collide.");
        }

        // Every type the resolver must know: the scalars, the member types and, transitively, the
        // element types of the collection formatters (they resolve their elements through the resolver).
        var helpers = new SortedDictionary<string, Helper>(StringComparer.Ordinal);
        var known = new HashSet<Type>(contracts);
        var pending = new Queue<Type>(Scalars.Concat(models.SelectMany(model => model.Members.Select(member => member.Type))));
        while (pending.TryDequeue(out var type))
        {
            if (!known.Add(type))
            {
                continue;
            }

            var helper = CreateHelper(type, names);
            if (!helpers.TryAdd(helper.Field, helper))
            {
                throw new InvalidOperationException($"Two types map to the formatter field {helper.Field}.");
            }

            foreach (var argument in helper.ElementTypes)
            {
                pending.Enqueue(argument);
            }
        }

        // The body first: writing it collects the namespaces the usings must name.
        var body = new SourceWriter();
        WriteIndex(body, contracts, helpers.Values, names);
        foreach (var model in models)
        {
            body.Line();
            WriteFormatter(body, model, helpers.Values, names);
        }

        var source = new SourceWriter();
        source.Line("// <auto-generated>");
        source.Line("// Generated by eng/ContractFormatterGenerator from the [MessagePackObject] types of EdgeAgent.Protocol.");
        source.Line($"// Do not edit: after changing a contract, run `{Command}`.");
        source.Line("// Each formatter does what MessagePack's DynamicObjectResolver emits at run time (an array of the");
        source.Line("// [Key] members, nil in the gaps; reading skips unknown trailing members and keeps the initial value");
        source.Line("// of members the payload lacks), without Reflection.Emit, so it also runs on Native AOT.");
        source.Line("// ContractFormatterTests checks that this file is current and writes the same bytes as MessagePack.");
        source.Line("// </auto-generated>");
        source.Line();
        source.Line("#nullable enable");
        source.Line();
        foreach (var ns in names.Namespaces.Where(ns => ns != GeneratedNamespace)
                     .OrderBy(ns => ns.StartsWith("System", StringComparison.Ordinal) ? 0 : 1)
                     .ThenBy(ns => ns, StringComparer.Ordinal))
        {
            source.Line($"using {ns};");
        }

        source.Line();
        source.Line($"namespace {GeneratedNamespace};");
        source.Line();
        return source + body.ToString();
    }

    private static void WriteIndex(SourceWriter source, List<Type> contracts, IEnumerable<Helper> helpers, TypeNames names)
    {
        source.Line("/// <summary>The formatters of the contracts and of every type their members use, by type.</summary>");
        source.Line("internal static class ContractFormatters");
        source.Open();
        foreach (var helper in helpers)
        {
            source.Line($"public static readonly {helper.FormatterTypeName} {helper.Field} = {helper.Expression};");
        }

        source.Line();
        source.Line("private static readonly Dictionary<Type, object> ByType = new()");
        source.Open();
        foreach (var contract in contracts)
        {
            source.Line($"[typeof({names.Of(contract)})] = {contract.Name}Formatter.Instance,");
        }

        foreach (var helper in helpers)
        {
            source.Line($"[typeof({names.Of(helper.Type)})] = {helper.Field},");
        }

        source.Close(";");
        source.Line();
        source.Line("/// <summary>The formatter of <paramref name=\"type\"/>, or null when it is neither a contract nor a type a contract uses.</summary>");
        source.Line("public static object? Find(Type type) => ByType.GetValueOrDefault(type);");
        source.Close();
    }

    private static void WriteFormatter(SourceWriter source, ContractModel model, IEnumerable<Helper> helpers, TypeNames names)
    {
        var type = names.Of(model.Type);
        var formatter = $"{model.Type.Name}Formatter";
        var fields = helpers.ToDictionary(helper => helper.Type, helper => helper.Field);
        source.Line($"/// <summary>Formats <see cref=\"{type}\"/>.</summary>");
        source.Line($"internal sealed class {formatter} : IMessagePackFormatter<{type}?>");
        source.Open();
        source.Line($"public static readonly {formatter} Instance = new();");
        var initOnly = model.Members.Where(member => member.IsInitOnly).ToList();
        if (initOnly.Count > 0)
        {
            // Init-only properties are set after construction, as DynamicObjectResolver sets them, so that
            // members a payload lacks keep their initial values.
            names.Namespaces.Add("System.Runtime.CompilerServices");
            foreach (var member in initOnly)
            {
                var nullable = member.NotNull || member.Type.IsValueType ? "" : "?";
                source.Line();
                source.Line($"[UnsafeAccessor(UnsafeAccessorKind.Method, Name = \"set_{member.Name}\")]");
                source.Line($"private static extern void Set{member.Name}({type} target, {names.Of(member.Type)}{nullable} value);");
            }
        }

        // Serialize
        source.Line();
        source.Line($"public void Serialize(ref MessagePackWriter writer, {type}? value, MessagePackSerializerOptions options)");
        source.Open();
        source.Line("if (value is null)");
        source.Open();
        source.Line("writer.WriteNil();");
        source.Line("return;");
        source.Close();
        source.Line();
        var length = model.Members.Count == 0 ? 0 : model.Members.Max(member => member.Key) + 1;
        source.Line($"writer.WriteArrayHeader({length});");
        for (var key = 0; key < length; key++)
        {
            var member = model.Members.SingleOrDefault(member => member.Key == key);
            if (member is null)
            {
                source.Line($"writer.WriteNil(); // [Key({key})] is not used");
                continue;
            }

            var value = $"value.{member.Name}";
            if (member.Type.IsEnum)
            {
                source.Line($"writer.Write(({names.Of(member.Type.GetEnumUnderlyingType())}){value});");
            }
            else if (Direct.ContainsKey(member.Type))
            {
                source.Line($"writer.Write({value});");
            }
            else
            {
                source.Line($"{FormatterOf(member.Type, model, fields)}.Serialize(ref writer, {value}, options);");
            }
        }

        source.Close();

        // Deserialize
        source.Line();
        source.Line($"public {type}? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)");
        source.Open();
        source.Line("if (reader.TryReadNil())");
        source.Open();
        source.Line("return null;");
        source.Close();
        source.Line();
        source.Line($"var result = new {type}();");
        source.Line("options.Security.DepthStep(ref reader);");
        source.Line("var length = reader.ReadArrayHeader();");
        source.Line("for (var key = 0; key < length; key++)");
        source.Open();
        if (model.Members.Count == 0)
        {
            source.Line("reader.Skip();");
        }
        else
        {
            source.Line("switch (key)");
            source.Open();
            foreach (var member in model.Members.OrderBy(member => member.Key))
            {
                source.Line($"case {member.Key}:");
                source.Indent++;
                var read = ReadExpression(member, model, fields, names);
                source.Line(member.IsInitOnly ? $"Set{member.Name}(result, {read});" : $"result.{member.Name} = {read};");
                source.Line("break;");
                source.Indent--;
            }

            source.Line("default:");
            source.Indent++;
            source.Line("reader.Skip();");
            source.Line("break;");
            source.Indent--;
            source.Close();
        }

        source.Close();
        source.Line();
        source.Line("reader.Depth--;");
        source.Line("return result;");
        source.Close();
        source.Close();
    }

    private static string ReadExpression(MemberModel member, ContractModel model, Dictionary<Type, string> fields, TypeNames names)
    {
        // Null from the payload is kept, as DynamicObjectResolver keeps it, even for members declared not null.
        var bang = member.NotNull && !member.Type.IsValueType ? "!" : "";
        if (member.Type.IsEnum)
        {
            return $"({names.Of(member.Type)})reader.Read{Direct[member.Type.GetEnumUnderlyingType()]}()";
        }

        if (member.Type == typeof(byte[]))
        {
            names.Namespaces.Add("System.Buffers"); // ReadOnlySequence<byte>.ToArray()
            return $"reader.ReadBytes()?.ToArray(){bang}";
        }

        if (Direct.TryGetValue(member.Type, out var suffix))
        {
            return $"reader.Read{suffix}(){bang}";
        }

        return $"{FormatterOf(member.Type, model, fields)}.Deserialize(ref reader, options){bang}";
    }

    private static string FormatterOf(Type type, ContractModel model, Dictionary<Type, string> fields)
    {
        if (type.IsDefined(typeof(MessagePackObjectAttribute), inherit: false))
        {
            return $"{type.Name}Formatter.Instance";
        }

        return fields.TryGetValue(type, out var field)
            ? $"ContractFormatters.{field}"
            : throw new InvalidOperationException($"No formatter for {type} (a member of {model.Type}).");
    }

    /// <summary>The formatter a non-contract type gets: the one StandardResolver picks, made without reflection.</summary>
    private static Helper CreateHelper(Type type, TypeNames names)
    {
        var field = "For" + FieldName(type);
        if (type.IsEnum)
        {
            // DynamicEnumResolver emits a formatter that writes the underlying integer; GenericEnumFormatter
            // writes the same without Reflection.Emit.
            var enumFormatter = typeof(GenericEnumFormatter<>).MakeGenericType(type);
            return new Helper(type, field, names.Of(enumFormatter), "new()", []);
        }

        var formatter = StandardResolver.Instance.GetFormatterDynamic(type)
            ?? throw new InvalidOperationException($"MessagePack's StandardResolver has no formatter for {type}.");
        var formatterType = formatter.GetType();
        if (formatterType.IsGenericType && formatterType.GetGenericTypeDefinition() == typeof(StaticNullableFormatter<>))
        {
            // StaticNullableFormatter<T> wraps the formatter of T given to its constructor; NullableFormatter<T>
            // writes the same (nil, or the value) and finds the formatter of T through the resolver.
            formatterType = typeof(NullableFormatter<>).MakeGenericType(formatterType.GetGenericArguments());
        }

        if (!formatterType.IsVisible)
        {
            throw new InvalidOperationException(
                $"MessagePack formats {type} with {formatterType}, which is made at run time; teach eng/ContractFormatterGenerator an AOT-safe formatter for it.");
        }

        string expression;
        var declaredType = formatterType;
        if (formatterType.GetField("Instance", BindingFlags.Public | BindingFlags.Static) is { } instance && instance.FieldType.IsAssignableFrom(formatterType))
        {
            // Some builtin formatters expose their singleton as IMessagePackFormatter<T>.
            declaredType = instance.FieldType;
            expression = $"{names.Of(formatterType)}.Instance";
        }
        else if (formatterType.GetConstructor(Type.EmptyTypes) is not null)
        {
            expression = "new()";
        }
        else
        {
            throw new InvalidOperationException($"{formatterType} (the formatter of {type}) has neither a public Instance nor a public parameterless constructor.");
        }

        var elements = formatterType.IsGenericType ? formatterType.GetGenericArguments() : [];
        return new Helper(type, field, names.Of(declaredType), expression, elements);
    }

    private static string FieldName(Type type)
    {
        if (type.IsArray)
        {
            return FieldName(type.GetElementType()!) + "Array";
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return "Nullable" + FieldName(underlying);
        }

        if (!type.IsGenericType)
        {
            return type.Name;
        }

        var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
        if (type.IsInterface && name.Length > 1 && name[0] == 'I' && char.IsUpper(name[1]))
        {
            name = name[1..];
        }

        return name + "Of" + string.Join("And", type.GetGenericArguments().Select(FieldName));
    }

    private static ContractModel Describe(Type type)
    {
        var attribute = type.GetCustomAttribute<MessagePackObjectAttribute>()!;
        Fail(attribute.KeyAsPropertyName, type, "uses string keys (keyAsPropertyName)");
        Fail(type.IsGenericType || type.IsNested || type.IsValueType || type.IsAbstract, type, "is not a top-level, non-generic, concrete class");
        Fail(type.BaseType != typeof(object), type, "derives from another class");
        Fail(typeof(IMessagePackSerializationCallbackReceiver).IsAssignableFrom(type), type, "implements IMessagePackSerializationCallbackReceiver");
        Fail(type.IsDefined(typeof(MessagePackFormatterAttribute), inherit: true), type, "names its own formatter");
        var constructors = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        Fail(constructors.Length != 1 || constructors[0].GetParameters().Length != 0, type, "does not have exactly one public constructor, without parameters");

        var nullability = new NullabilityInfoContext();
        var members = new List<MemberModel>();
        const BindingFlags Public = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        foreach (var member in type.GetProperties(Public).Cast<MemberInfo>().Concat(type.GetFields(Public)))
        {
            if (member.IsDefined(typeof(IgnoreMemberAttribute), inherit: true))
            {
                continue;
            }

            var key = member.GetCustomAttribute<KeyAttribute>(inherit: true);
            Fail(key is null, type, $"has the public member {member.Name} without [Key] or [IgnoreMember]");
            Fail(key!.IntKey is null, type, $"gives {member.Name} a string key");
            Fail(member.IsDefined(typeof(MessagePackFormatterAttribute), inherit: true), type, $"names a formatter for {member.Name}");
            switch (member)
            {
                case PropertyInfo property:
                    Fail(property.GetMethod?.IsPublic != true || property.SetMethod?.IsPublic != true || property.GetIndexParameters().Length > 0, type,
                        $"has the property {member.Name} without a public getter and a public setter");
                    var initOnly = property.SetMethod!.ReturnParameter.GetRequiredCustomModifiers()
                        .Any(modifier => modifier.FullName == "System.Runtime.CompilerServices.IsExternalInit");
                    members.Add(new MemberModel(property.Name, property.PropertyType, key.IntKey!.Value, initOnly,
                        nullability.Create(property).WriteState == NullabilityState.NotNull));
                    break;
                case FieldInfo field:
                    Fail(field.IsInitOnly, type, $"has the read-only field {member.Name}");
                    members.Add(new MemberModel(field.Name, field.FieldType, key.IntKey!.Value, IsInitOnly: false,
                        nullability.Create(field).WriteState == NullabilityState.NotNull));
                    break;
            }
        }

        foreach (var duplicate in members.GroupBy(member => member.Key).Where(group => group.Count() > 1))
        {
            throw new InvalidOperationException($"{type} uses [Key({duplicate.Key})] twice.");
        }

        Fail(members.Any(member => member.Key < 0), type, "has a negative key");
        return new ContractModel(type, members.OrderBy(member => member.Key).ToList());
    }

    private static void Fail(bool condition, Type type, string what)
    {
        if (condition)
        {
            throw new InvalidOperationException(
                $"The contract {type} {what}: DynamicObjectResolver's behaviour for that is not reproduced by eng/ContractFormatterGenerator.");
        }
    }

    private sealed record ContractModel(Type Type, List<MemberModel> Members);

    private sealed record MemberModel(string Name, Type Type, int Key, bool IsInitOnly, bool NotNull);

    private sealed record Helper(Type Type, string Field, string FormatterTypeName, string Expression, Type[] ElementTypes);

    /// <summary>C# names of types, short, with the namespaces they need.</summary>
    private sealed class TypeNames(IEnumerable<Type> contracts)
    {
        public HashSet<string> Namespaces { get; } =
            ["System", "System.Collections.Generic", "MessagePack", "MessagePack.Formatters", .. contracts.Select(type => type.Namespace!)];

        public string Of(Type type)
        {
            if (Keywords.TryGetValue(type, out var keyword))
            {
                return keyword;
            }

            if (type.IsArray)
            {
                return Of(type.GetElementType()!) + "[]";
            }

            if (Nullable.GetUnderlyingType(type) is { } underlying)
            {
                return Of(underlying) + "?";
            }

            Namespaces.Add(type.Namespace!);
            if (!type.IsGenericType)
            {
                return type.Name;
            }

            var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
            return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Of))}>";
        }
    }

    private sealed class SourceWriter
    {
        private readonly StringBuilder _text = new();

        public int Indent { get; set; }

        public void Line(string line = "")
        {
            if (line.Length > 0)
            {
                _text.Append(' ', Indent * 4).Append(line);
            }

            _text.Append('\n');
        }

        public void Open()
        {
            Line("{");
            Indent++;
        }

        public void Close(string suffix = "")
        {
            Indent--;
            Line("}" + suffix);
        }

        public override string ToString() => _text.ToString();
    }
}
