// The read-only gate of `novacrm serve` and `novacrm sql`, compiled at run time by
// Spark's own Janino (novacrm_spark/serving/guard.py); Janino takes no generics or lambdas.
//
// Two Spark session extensions, active in every session except the serving process's
// own (which creates the views):
//   * a parser that refuses a statement (parsePlan; views' own text comes through parseQuery) naming a relation that is not LAYER.TABLE, before
//     Spark resolves it (so csv.`/etc/passwd` is never opened, whatever runSQLOnFiles says);
//   * a check rule on the analysed plan: only queries and an allow-list of SHOW, DESCRIBE,
//     EXPLAIN, USE and SET commands pass; no TRANSFORM, no reflection, no direct file reads.
// The policy (which names, commands and settings) comes from Python, stated once there.

import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.parser.ParseException;
import org.apache.spark.sql.catalyst.parser.ParserInterface;
import org.apache.spark.sql.catalyst.plans.QueryPlan;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.command.SetCommand;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;

public class ReadOnlyGuard {
    private final Object owner;
    private final java.util.Set namespaces, commands, leaves, expressions, settingsDenied;
    // Warehouses whose files the views may read; one process may serve several in turn.
    private final java.util.Set tableRoots = new java.util.concurrent.CopyOnWriteArraySet();
    private final String settingsPrefix, help;

    public ReadOnlyGuard(Object owner, String[] namespaces, String[] commands, String[] leaves,
                         String[] expressions, String settingsPrefix, String[] settingsDenied, String help) {
        this.owner = owner;
        this.namespaces = set(namespaces);
        this.commands = set(commands);
        this.leaves = set(leaves);
        this.expressions = set(expressions);
        this.settingsPrefix = settingsPrefix;
        this.settingsDenied = set(settingsDenied);
        this.help = help;
    }

    public void allowTableRoot(String root) {
        tableRoots.add(root);
    }

    private static java.util.Set set(String[] values) {
        return new java.util.HashSet(java.util.Arrays.asList(values));
    }

    /** SparkSessionExtensions.injectCheckRule: SparkSession => (LogicalPlan => Unit). */
    public Object checkRuleBuilder() {
        final ReadOnlyGuard guard = this;
        return new scala.runtime.AbstractFunction1() {
            public Object apply(final Object session) {
                return new scala.runtime.AbstractFunction1() {
                    public Object apply(Object plan) {
                        if (session != guard.owner) guard.checkAnalysed((LogicalPlan) plan);
                        return scala.runtime.BoxedUnit.UNIT;
                    }
                };
            }
        };
    }

    /** SparkSessionExtensions.injectParser: (SparkSession, ParserInterface) => ParserInterface. */
    public Object parserBuilder() {
        final ReadOnlyGuard guard = this;
        return new scala.runtime.AbstractFunction2() {
            public Object apply(Object session, Object delegate) {
                if (session == guard.owner) return delegate;
                return new GuardedParser(guard, (ParserInterface) delegate);
            }
        };
    }

    /** The guard's one error: what is refused, and what is allowed. */
    private SecurityException refused(String what) {
        return new SecurityException("refused: " + what + ". " + help);
    }

    /** The parsed statement: every relation it names must be LAYER.TABLE (or a one-part name). */
    public void checkParsed(QueryPlan node) {
        if (node instanceof UnresolvedRelation) {
            scala.collection.Seq parts = ((UnresolvedRelation) node).multipartIdentifier();
            if (!allowedName(parts)) throw refused("reading " + parts.mkString(".")
                + " (only published tables, named LAYER.TABLE, can be read)");
        }
        String name = node.getClass().getSimpleName();
        if (name.startsWith("PlanWithUnresolvedIdentifier"))
            throw refused("IDENTIFIER(...) table names (name the table directly)");
        scala.collection.Iterator it = node.children().iterator();
        while (it.hasNext()) checkParsed((QueryPlan) it.next());
        it = node.innerChildren().iterator();
        while (it.hasNext()) checkParsed((QueryPlan) it.next());
        it = node.subqueries().iterator();
        while (it.hasNext()) checkParsed((QueryPlan) it.next());
    }

    private boolean allowedName(scala.collection.Seq parts) {
        int n = parts.size();
        if (n == 1) return true;  // a CTE, or a table of the current layer (USE marts)
        String namespace = ((String) parts.apply(n - 2)).toLowerCase();
        if (!namespaces.contains(namespace)) return false;
        return n == 2 || (n == 3 && "spark_catalog".equalsIgnoreCase((String) parts.apply(0)));
    }

    /** The analysed plan: a query, or an allowed command. */
    public void checkAnalysed(LogicalPlan plan) {
        if (plan instanceof Command) {
            String name = plan.getClass().getSimpleName().replace("$", "");
            if (plan instanceof SetCommand) checkSet((SetCommand) plan);
            else if (!commands.contains(name)) throw refused(statement(name));
            return;
        }
        checkQuery(plan);
    }

    private void checkSet(SetCommand set) {
        if (set.kv().isEmpty()) return;
        scala.Tuple2 kv = (scala.Tuple2) set.kv().get();
        if (((scala.Option) kv._2()).isEmpty()) return;  // SET key, SET -v: reading a value
        String key = ((String) kv._1()).trim();
        boolean ordinary = key.startsWith(settingsPrefix);
        java.util.Iterator denied = settingsDenied.iterator();
        while (ordinary && denied.hasNext()) ordinary = !key.startsWith((String) denied.next());
        if (!ordinary) throw refused("SET " + key + " (not an ordinary session setting)");
    }

    private void checkQuery(LogicalPlan node) {
        String name = node.getClass().getSimpleName();
        if (name.equals("View")) return;  // our own views over published tables
        if (node instanceof Command) throw refused(statement(name));
        if (name.equals("ScriptTransformation"))
            throw refused("SELECT TRANSFORM (it runs a program)");
        // Spark checks a view's body on its own too (without the View node): its file
        // relations must lie in the warehouse. The parser already refused any other path.
        if (node.children().isEmpty() && !leaves.contains(name) && !readsTables(node))
            throw refused("reading files or sources directly (" + name + ")");
        scala.collection.Iterator it = node.expressions().iterator();
        while (it.hasNext()) checkExpression((Expression) it.next());
        it = node.subqueries().iterator();
        while (it.hasNext()) checkQuery((LogicalPlan) it.next());
        it = node.children().iterator();
        while (it.hasNext()) checkQuery((LogicalPlan) it.next());
    }

    private boolean readsTables(LogicalPlan node) {
        if (!(node instanceof LogicalRelation)) return false;
        Object relation = ((LogicalRelation) node).relation();
        if (!(relation instanceof HadoopFsRelation)) return false;
        scala.collection.Iterator paths = ((HadoopFsRelation) relation).location().rootPaths().iterator();
        while (paths.hasNext()) {
            java.net.URI uri = ((org.apache.hadoop.fs.Path) paths.next()).toUri();
            String location = uri.getScheme() + "://" + (uri.getAuthority() == null ? "" : uri.getAuthority()) + uri.getPath();
            boolean inside = false;
            java.util.Iterator roots = tableRoots.iterator();
            while (roots.hasNext() && !inside) inside = location.startsWith((String) roots.next());
            if (!inside) return false;
        }
        return true;
    }

    private void checkExpression(Expression expression) {
        String name = expression.getClass().getSimpleName();
        if (expressions.contains(name))
            throw refused(name + " (calls into the JVM)");
        scala.collection.Iterator it = expression.children().iterator();
        while (it.hasNext()) checkExpression((Expression) it.next());
    }

    /** DropTableCommand -> "DROP TABLE": the statement a class stands for, for the message. */
    static String statement(String className) {
        String base = className.endsWith("Command") ? className.substring(0, className.length() - 7) : className;
        StringBuilder words = new StringBuilder();
        for (int i = 0; i < base.length(); i++) {
            char c = base.charAt(i);
            if (i > 0 && Character.isUpperCase(c) && !Character.isUpperCase(base.charAt(i - 1))) words.append(' ');
            words.append(Character.toUpperCase(c));
        }
        return words.toString() + " (" + className + ")";
    }

    /** Spark's parser, with checkParsed on every statement it returns. */
    public static class GuardedParser implements ParserInterface {
        private final ReadOnlyGuard guard;
        private final ParserInterface delegate;

        public GuardedParser(ReadOnlyGuard guard, ParserInterface delegate) {
            this.guard = guard;
            this.delegate = delegate;
        }

        public LogicalPlan parsePlan(String sql) throws ParseException {
            LogicalPlan plan = delegate.parsePlan(sql);
            guard.checkParsed(plan);
            return plan;
        }

        // Spark parses a view's own text with parseQuery: our views read files by path on purpose.
        public LogicalPlan parseQuery(String sql) throws ParseException { return delegate.parseQuery(sql); }
        public Expression parseExpression(String sql) throws ParseException { return delegate.parseExpression(sql); }
        public org.apache.spark.sql.catalyst.TableIdentifier parseTableIdentifier(String sql) throws ParseException { return delegate.parseTableIdentifier(sql); }
        public org.apache.spark.sql.catalyst.FunctionIdentifier parseFunctionIdentifier(String sql) throws ParseException { return delegate.parseFunctionIdentifier(sql); }
        public scala.collection.immutable.Seq parseMultipartIdentifier(String sql) throws ParseException { return delegate.parseMultipartIdentifier(sql); }
        public org.apache.spark.sql.types.StructType parseRoutineParam(String sql) throws ParseException { return delegate.parseRoutineParam(sql); }
        public org.apache.spark.sql.types.StructType parseTableSchema(String sql) throws ParseException { return delegate.parseTableSchema(sql); }
        public org.apache.spark.sql.types.DataType parseDataType(String sql) throws ParseException { return delegate.parseDataType(sql); }
    }
}
