export { buildReportData, reportSpan, type BaselineLoad, type ReportData, type ReportInput, type ReportSite } from './data.ts';
export { chartsJsPath, echartsPath, loadReportAssets, renderReportHtml, scriptJson, type ReportAssets } from './html.ts';
