// A bar chart in SVG, drawn by hand (no chart library in the bundle): one group of bars
// per label, one bar per series. Named for screen readers, with the figures in a table
// they can read (hidden from sight: the picture is for the eyes).
export interface Series {
  name: string;
  /** A CSS class giving the bars their colour (styles.css: .series-0, .series-1, ...). */
  className: string;
  values: number[];
}

const WIDTH = 640;
const HEIGHT = 200;
const AXIS = 28;
const TOP = 10;

export function BarChart({
  title,
  labels,
  series,
  format = (value: number) => value.toLocaleString(),
}: {
  title: string;
  labels: string[];
  series: Series[];
  format?: (value: number) => string;
}) {
  const max = Math.max(1, ...series.flatMap((one) => one.values));
  const group = (WIDTH - AXIS) / Math.max(1, labels.length);
  const bar = Math.max(2, (group * 0.75) / Math.max(1, series.length));
  const scale = (value: number) => ((HEIGHT - TOP - 20) * value) / max;
  const summary = series
    .map((one) => `${one.name}: ${format(one.values.reduce((total, value) => total + value, 0))}`)
    .join("; ");
  return (
    <figure className="chart">
      <figcaption>
        <strong>{title}</strong>
        <span className="legend">
          {series.map((one) => (
            <span key={one.name} className="legend-item">
              <span className={`swatch ${one.className}`} aria-hidden="true" />
              {one.name}
            </span>
          ))}
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${title}. ${summary}`}
        preserveAspectRatio="none"
      >
        <line x1={AXIS} x2={WIDTH} y1={HEIGHT - 20} y2={HEIGHT - 20} className="axis" />
        <text x={AXIS - 4} y={TOP + 8} className="tick" textAnchor="end">
          {format(max)}
        </text>
        <text x={AXIS - 4} y={HEIGHT - 22} className="tick" textAnchor="end">
          0
        </text>
        {labels.map((label, index) => {
          const x = AXIS + index * group + group * 0.125;
          return (
            <g key={label}>
              {series.map((one, position) => {
                const height = scale(one.values[index] ?? 0);
                return (
                  <rect
                    key={one.name}
                    className={one.className}
                    x={x + position * bar}
                    y={HEIGHT - 20 - height}
                    width={bar - 1}
                    height={height}
                  >
                    <title>{`${label} · ${one.name}: ${format(one.values[index] ?? 0)}`}</title>
                  </rect>
                );
              })}
              <text x={x + (bar * series.length) / 2} y={HEIGHT - 6} className="tick" textAnchor="middle">
                {label}
              </text>
            </g>
          );
        })}
      </svg>
      <table className="visually-hidden">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col" />
            {series.map((one) => (
              <th key={one.name} scope="col">
                {one.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {labels.map((label, index) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              {series.map((one) => (
                <td key={one.name}>{format(one.values[index] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
